/*
 * tether: stackful fibers that die cleanly.
 *
 * The umbrella header. Everything the library exports is declared in the
 * topic headers it includes; nothing else is exported.
 */
#ifndef TETHER_H
#define TETHER_H

#include <tether/call.h>
#include <tether/chain.h>
#include <tether/common.h>
#include <tether/fiber.h>
#include <tether/fault.h>
#include <tether/kill.h>
#include <tether/probe.h>
#include <tether/seq.h>
#include <tether/unwind.h>
#include <tether/version.h>

#endif
