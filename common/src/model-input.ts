/**
 * Model input: 8-bit greyscale PNG, MODEL_INPUT_SIZE x MODEL_INPUT_SIZE, windowed image resized with
 * its aspect ratio kept (`fit: contain`) on a black background. The model scales pixels to [0, 1].
 * In a module of its own (re-exported by inference.ts) so that the worker's render threads read it
 * without loading zod (decision 018, part 3).
 */
export const MODEL_INPUT_SIZE = 128;
