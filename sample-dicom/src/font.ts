/**
 * A 10x17 bitmap font (capitals, digits and a few signs), rasterised once from DejaVu Sans Mono Bold
 * and kept here as data, so the samples' burned-in text is the same on every machine (no font
 * lookup at generation time). Each glyph: 17 rows of 10 bits, three hex digits per row.
 */
const GLYPHS: Readonly<Record<string, string>> = {
  ' ': '000000000000000000000000000000000000000000000000000',
  A: '0000700780780f80d80dc0cc1fc1fe18e186386000000000000',
  B: '0001f81fc18e18e18c1f81fc18e18618e1fe1fc000000000000',
  C: '00003c07e0e61c01c01c01c01c01c00e00fe07c000000000000',
  D: '0001f01f81fc18e18e18e18e18e18e19c1fc1f0000000000000',
  E: '0001fc1fe1c01c01c01fc1fc1c01c01c01fe1fe000000000000',
  F: '0000fe1fe1c01c01c01fc1fc1c01c01c01c01c0000000000000',
  G: '00003c0fc0e41c01c018019e1de1c61c60fe07c000000000000',
  H: '00018c18e18e18e1ce1fe1fe18e18e18e18e18e000000000000',
  I: '0001fc1fc0700300300300300300300301fc1fc000000000000',
  J: '00007c07c01c00c00c00c00c00c01c11c1fc1f8000000000000',
  K: '00018618e19c1b81f01f01f81d819c18c18e186000000000000',
  L: '0000c00c00c00c00c00c00c00c00c00c00fe0fe000000000000',
  M: '00018e1ce1ce1de1fe1f61b61b6186186186186000000000000',
  N: '0001861c61c61e61e61a61b61be19e19e18e18e000000000000',
  O: '0000780fc1dc1ce18e18e18e18e18e1ce0fc0f8000000000000',
  P: '0001f01fc1ce1ce1ce1de1fc1f01c01c01c01c0000000000000',
  Q: '0000780fc1dc1ce18e18e18e18e18e1ce0fc0f801c00c000000',
  R: '0001f01fc1dc18e18e1fc1f81f819c18c18e186000000000000',
  S: '0000780fc1c41801c00f807c01e00e10e1fc1f8000000000000',
  T: '0001fe1fe070030030030030030030030030030000000000000',
  U: '00018618e18e18e18e18e18e18e18e1ce1fc0f8000000000000',
  V: '00018618618e1ce1cc0cc0dc0dc0f8078078078000000000000',
  W: '0003023073063363361f61fe1fe1de1ce1ce1cc000000000000',
  X: '00018618e1cc0fc0780700700780f80cc1ce386000000000000',
  Y: '00038618e1ce0dc0fc078078030030030030030000000000000',
  Z: '0001fe1fe00e01c0180380700600e01c01fe1fe000000000000',
  '0': '0000780fc1dc1cc18e1ae1be18e1ce1cc0fc078000000000000',
  '1': '0000700f00f00300300300300300300301fe1fe000000000000',
  '2': '0000f01fc11c00c00c01c0380700e01c01fc1fc000000000000',
  '3': '0000f81fc01c00c01c07807c00c00e00e1fc1f8000000000000',
  '4': '00001803c03c07c0dc0dc19c1fe1fe1fe01c01c000000000000',
  '5': '0000fc1fc1c01801f01fc09c00c00e00c1fc1f8000000000000',
  '6': '00003c0fc0c41c01b81fc1ce1ce1ce1ce0fc078000000000000',
  '7': '0001fc1fe01c01c01c0180380300700700600e0000000000000',
  '8': '0000780fc1cc18c0cc0f80fc1cc18e18e1fc0f8000000000000',
  '9': '0000700fc1cc18c18e18e1fe0fe00c00c0fc0f8000000000000',
  '-': '0000000000000000000000f80f8078000000000000000000000',
  '/': '00000400c00c0180180100300200600600c00c0180100000000',
  ':': '000000000000000070070030000000030070070000000000000',
  '.': '000000000000000000000000000000030070070000000000000',
  '^': '0000300780fc1cc186000000000000000000000000000000000',
  ',': '000000000000000000000000000000030030070060060000000',
  "'": '000030030030030030000000000000000000000000000000000',
};

export const GLYPH_WIDTH = 10;
export const GLYPH_HEIGHT = 17;

/**
 * Draws `text` (upper-cased; unknown characters as spaces) with its top-left corner at (x, y),
 * setting covered pixels to `value`; glyphs advance by GLYPH_WIDTH. Pixels outside are skipped.
 */
export function drawText(
  pixels: { length: number; [i: number]: number },
  columns: number,
  x: number,
  y: number,
  text: string,
  value: number,
): void {
  const rows = Math.floor(pixels.length / columns);
  let left = x;
  for (const ch of text.toUpperCase()) {
    const glyph = GLYPHS[ch];
    if (glyph) {
      for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
        const bits = Number.parseInt(glyph.slice(gy * 3, gy * 3 + 3), 16);
        for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
          if (!(bits & (1 << (GLYPH_WIDTH - 1 - gx)))) continue;
          const px = left + gx;
          const py = y + gy;
          if (px >= 0 && px < columns && py >= 0 && py < rows) pixels[py * columns + px] = value;
        }
      }
    }
    left += GLYPH_WIDTH;
  }
}
