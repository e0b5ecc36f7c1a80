//===- moe-opt.cpp - moe-mlir optimizer driver ------------------*- C++ -*-===//
//
// Part of the moe-mlir project.
//
//===----------------------------------------------------------------------===//

#include "moe/Tools/MoEOptMain.h"

int main(int argc, char **argv) { return mlir::moe::moeOptMain(argc, argv); }
