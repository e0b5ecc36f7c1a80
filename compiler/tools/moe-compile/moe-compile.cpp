//===- moe-compile.cpp - Compile a moe-graph model ahead of time -*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Tools/MoECompileMain.h"

int main(int argc, char **argv) { return mlir::moe::moeCompileMain(argc, argv); }
