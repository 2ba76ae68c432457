// A pool thread whose RLE codec never returns while re-encoding blanked pixel data (stuck-codec.mjs).
import { stuckOn } from './stuck-codec.mjs';

await stuckOn('blank');
