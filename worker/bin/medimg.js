#!/usr/bin/env node
// `npx medimg ...`: runs the TypeScript CLI through tsx (the project runs its TypeScript with tsx).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
