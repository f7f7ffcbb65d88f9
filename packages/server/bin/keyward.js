#!/usr/bin/env node
// The `keyward` command. The code lives in dist/ (built by `npm ci` through the root
// `prepare` script); this file exists so the bin link is valid before the first build.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
