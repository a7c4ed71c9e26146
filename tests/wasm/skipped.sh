#!/bin/sh
# Stands in for the WebAssembly tests when configure did not find wabt
# (wasm-rt.h, wat2wasm, wasm2c): SKIP, with the reason.
echo "SKIP: the WebAssembly tests need wabt (wasm-rt.h, wat2wasm and wasm2c);"
echo "      tools/quickstart installs it, or: apt-get install wabt"
exit 77
