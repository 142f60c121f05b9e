#!/usr/bin/env node
// Entry point for `npx nnc`: runs the TypeScript sources through tsx, so a
// fresh clone needs no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli.ts");
process.exitCode = await main(process.argv.slice(2));
