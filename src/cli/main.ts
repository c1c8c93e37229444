#!/usr/bin/env node
import { reportAndExit } from "./cli-output.js";
import { buildProgram } from "./program.js";

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => reportAndExit(error));
