import { MODEL_INPUT_SIZE } from '@medimg/common/inference.ts';
import sharp from 'sharp';
import { ModelServerError } from './errors.ts';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Decode one model-input PNG into `MODEL_INPUT_SIZE`² float32 pixels scaled to [0, 1], written into `out` at
 * `offset`. The PNG must be MODEL_INPUT_SIZE x MODEL_INPUT_SIZE; 8-bit grey is expected, other colour types
 * are converted to grey (luminance) and 16-bit is reduced to 8-bit first, so what the model sees is always
 * the 8-bit grey image the contract describes. `what` names the instance in error messages (an index, never
 * the caller's id).
 */
export async function decodeModelInput(
  png: Buffer,
  out: Float32Array,
  offset: number,
  what: string,
): Promise<void> {
  if (png.length < PNG_SIGNATURE.length || !png.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) {
    throw new ModelServerError('BAD_IMAGE', `${what} is not a PNG`);
  }
  const size = MODEL_INPUT_SIZE;
  let pixels: Buffer;
  try {
    // limitInputPixels rejects a larger image before its pixels are inflated (no decompression bombs).
    const image = sharp(png, { limitInputPixels: size * size, failOn: 'error' });
    const meta = await image.metadata();
    if (meta.width !== size || meta.height !== size) {
      throw new ModelServerError(
        'BAD_IMAGE',
        `${what} is ${meta.width}x${meta.height}, expected ${size}x${size}`,
      );
    }
    const raw = await image.toColourspace('b-w').extractChannel(0).raw({ depth: 'uchar' }).toBuffer({
      resolveWithObject: true,
    });
    pixels = raw.data;
  } catch (err) {
    if (err instanceof ModelServerError) throw err;
    const tooLarge = err instanceof Error && /pixel limit/i.test(err.message);
    throw new ModelServerError(
      'BAD_IMAGE',
      tooLarge ? `${what} is larger than ${size}x${size}` : `${what} could not be decoded as PNG`,
      { cause: err },
    );
  }
  if (pixels.length !== size * size) {
    throw new ModelServerError(
      'BAD_IMAGE',
      `${what} decoded to ${pixels.length} bytes, expected ${size * size}`,
    );
  }
  for (let i = 0; i < pixels.length; i++) out[offset + i] = pixels[i]! / 255;
}
