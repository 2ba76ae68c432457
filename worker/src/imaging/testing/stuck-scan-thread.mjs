// A pool thread whose RLE codec never returns during the burned-in text scan (stuck-codec.mjs).
import { stuckOn } from './stuck-codec.mjs';

await stuckOn('scan');
