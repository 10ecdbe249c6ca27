#!/usr/bin/env node
// Entry point: runs the TypeScript sources through tsx's loader (no build step), then the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cmd/heimdall.ts');
const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
