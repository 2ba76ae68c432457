/**
 * Synthetic anatomy for the sample studies. Each function returns one image as numbers in the
 * modality's units (HU for CT, arbitrary units for MR and DX), deterministic for a given `rng`.
 * Coordinates are in millimetres from the image centre: x to the patient's left (image columns),
 * y to posterior (image rows, for axial images) or to the feet (rows, for the chest radiograph).
 */
import type { Rng } from './random.ts';

export interface SphereLesion {
  /** Centre in mm: x (patient left +), y (posterior +), z (superior +, CT/MR slice axis). */
  readonly centerMm: readonly [number, number, number];
  readonly radiusMm: number;
  /** Value inside the lesion (HU for CT, intensity for MR/DX). */
  readonly value: number;
}

export interface ImageGeometry {
  readonly rows: number;
  readonly columns: number;
  /** Row spacing and column spacing, mm. */
  readonly pixelSpacingMm: readonly [number, number];
}

const inEllipse = (x: number, y: number, cx: number, cy: number, ax: number, ay: number): number =>
  ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2;

/** Fraction of the slab [z - t/2, z + t/2] inside the sphere at (x, y): partial volume along z. */
function sphereFraction(l: SphereLesion, x: number, y: number, zMm: number, thicknessMm: number): number {
  const [cx, cy, cz] = l.centerMm;
  const r2 = l.radiusMm ** 2 - (x - cx) ** 2 - (y - cy) ** 2;
  if (r2 <= 0) return 0;
  const half = Math.sqrt(r2);
  const lo = Math.max(cz - half, zMm - thicknessMm / 2);
  const hi = Math.min(cz + half, zMm + thicknessMm / 2);
  return hi > lo ? (hi - lo) / Math.max(thicknessMm, 1e-6) : 0;
}

export interface CtChestOptions extends ImageGeometry {
  /** Slice position along the body axis, mm (0 = mid chest). */
  readonly zMm: number;
  readonly sliceThicknessMm: number;
  readonly rng: Rng;
  /** A solid nodule, usually inside the right lung (x < 0). */
  readonly lesion?: SphereLesion | null;
}

/** An axial chest CT slice in HU: air, body with fat rim, two lungs, mediastinum, spine, ribs. */
export function ctChestSlice(o: CtChestOptions): Float32Array {
  const out = new Float32Array(o.rows * o.columns);
  const [sy, sx] = o.pixelSpacingMm;
  // Chest narrows slightly towards the apex (z > 0) and the lungs shrink towards the base.
  const taper = 1 - 0.08 * Math.tanh(o.zMm / 60);
  const lungScale = 1 - 0.15 * Math.abs(o.zMm / 80) ** 2;
  const bodyA = 160 * taper;
  const bodyB = 112 * taper;
  const ribAngles = [-150, -130, -110, -70, -50, -30, 30, 50, 130, 150].map((d) => (d * Math.PI) / 180);
  for (let r = 0; r < o.rows; r++) {
    const y = (r - (o.rows - 1) / 2) * sy;
    for (let c = 0; c < o.columns; c++) {
      const x = (c - (o.columns - 1) / 2) * sx;
      let hu = -1000 + 6 * o.rng.gaussian();
      const body = inEllipse(x, y, 0, 0, bodyA, bodyB);
      if (body <= 1) {
        const inner = inEllipse(x, y, 0, 0, bodyA - 9, bodyB - 9);
        hu = inner <= 1 ? 40 + 10 * o.rng.gaussian() : -100 + 12 * o.rng.gaussian();
        const inLung =
          inEllipse(x, y, -72 * taper, -8, 52 * taper * lungScale, 74 * taper * lungScale) <= 1 ||
          inEllipse(x, y, 74 * taper, -8, 50 * taper * lungScale, 74 * taper * lungScale) <= 1;
        if (inLung) hu = -850 + 30 * o.rng.gaussian();
        // Heart / mediastinum in front of the spine, between the lungs.
        if (inEllipse(x, y, 8, -20, 38, 45) <= 1) hu = 40 + 10 * o.rng.gaussian();
        // Vertebral body with its spinal canal.
        if (inEllipse(x, y, 0, 78 * taper, 17, 15) <= 1) hu = 700 + 40 * o.rng.gaussian();
        if (inEllipse(x, y, 0, 98 * taper, 7, 6) <= 1) hu = 20 + 10 * o.rng.gaussian();
        // Rib cross-sections near the outline (cortical rim, marrow centre).
        for (const a of ribAngles) {
          const d = Math.hypot(x - (bodyA - 16) * Math.cos(a), y - (bodyB - 14) * Math.sin(a));
          if (d <= 5.5) hu = d > 3 ? 900 + 50 * o.rng.gaussian() : 250 + 30 * o.rng.gaussian();
        }
        if (o.lesion) {
          const f = sphereFraction(o.lesion, x, y, o.zMm, o.sliceThicknessMm);
          if (f > 0) hu = hu * (1 - f) + (o.lesion.value + 12 * o.rng.gaussian()) * f;
        }
      }
      out[r * o.columns + c] = hu;
    }
  }
  return out;
}

export interface MrHeadOptions extends ImageGeometry {
  /** Position of the slice through the head, 0 = skull base, 1 = vertex. */
  readonly level: number;
  readonly sliceThicknessMm: number;
  readonly zMm: number;
  readonly rng: Rng;
  /** A bright round lesion (e.g. an enhancing mass). */
  readonly lesion?: SphereLesion | null;
}

/** An axial T1-like brain MR slice (0..4095): dark background, bright scalp/skull ring, brain, dark ventricles. */
export function mrHeadSlice(o: MrHeadOptions): Float32Array {
  const out = new Float32Array(o.rows * o.columns);
  const [sy, sx] = o.pixelSpacingMm;
  const s = Math.sqrt(Math.max(0.15, 1 - ((o.level - 0.45) / 0.6) ** 2));
  const headA = 78 * s;
  const headB = 96 * s;
  const ventricles = o.level > 0.35 && o.level < 0.75;
  for (let r = 0; r < o.rows; r++) {
    const y = (r - (o.rows - 1) / 2) * sy;
    for (let c = 0; c < o.columns; c++) {
      const x = (c - (o.columns - 1) / 2) * sx;
      let v = Math.abs(12 + 8 * o.rng.gaussian());
      const head = inEllipse(x, y, 0, 0, headA, headB);
      if (head <= 1) {
        if (inEllipse(x, y, 0, 0, headA - 5, headB - 5) > 1)
          v = 1700 + 60 * o.rng.gaussian(); // scalp fat
        else if (inEllipse(x, y, 0, 0, headA - 10, headB - 10) > 1)
          v = 1300 + 50 * o.rng.gaussian(); // skull/marrow
        else {
          // Cortex darker than white matter, with gentle gyral variation.
          const depth = inEllipse(x, y, 0, 0, headA - 10, headB - 10);
          const gyri = 40 * Math.sin(x / 6) * Math.cos(y / 7);
          v = (depth > 0.7 ? 820 : 1000) + gyri + 25 * o.rng.gaussian();
          if (ventricles) {
            if (inEllipse(x, y, -9, -8, 6, 24) <= 1 || inEllipse(x, y, 9, -8, 6, 24) <= 1) {
              v = 280 + 20 * o.rng.gaussian();
            }
          }
        }
        if (o.lesion) {
          const f = sphereFraction(o.lesion, x, y, o.zMm, o.sliceThicknessMm);
          if (f > 0) v = v * (1 - f) + o.lesion.value * f;
        }
      }
      out[r * o.columns + c] = Math.min(4095, Math.max(0, v));
    }
  }
  return out;
}

export interface DxChestOptions extends ImageGeometry {
  readonly rng: Rng;
  /** A round opacity; z of centerMm is ignored. */
  readonly lesion?: SphereLesion | null;
}

/**
 * A PA chest radiograph (MONOCHROME2, 0..4095, brighter = more attenuation): dark background,
 * bright body, darker lungs, bright mediastinum and spine, faint ribs.
 */
export function dxChest(o: DxChestOptions): Float32Array {
  const out = new Float32Array(o.rows * o.columns);
  const [sy, sx] = o.pixelSpacingMm;
  for (let r = 0; r < o.rows; r++) {
    const y = (r - (o.rows - 1) / 2) * sy; // to the feet
    for (let c = 0; c < o.columns; c++) {
      const x = (c - (o.columns - 1) / 2) * sx; // to the patient's left
      let v = 180 + 15 * o.rng.gaussian();
      // Torso: a rounded trapezoid, wider at the bottom; shoulders at the top.
      const halfWidth = 150 + 0.12 * y;
      if (Math.abs(x) < halfWidth && y > -190) {
        const edge = Math.min(1, (halfWidth - Math.abs(x)) / 25);
        v = 1500 + 900 * edge;
        const lungL = inEllipse(x, y, 68, -20, 50, 115);
        const lungR = inEllipse(x, y, -68, -20, 52, 115);
        if (lungL <= 1 || lungR <= 1) {
          const m = Math.min(lungL, lungR);
          v = 1000 + 500 * m ** 3; // denser towards the lung edges
          // Faint posterior ribs: gently curved bands across each lung.
          const band = Math.sin(((y + 0.18 * Math.abs(x) ** 1.15) / 24) * Math.PI);
          if (band > 0.75) v += 260;
        }
        // Mediastinum and heart: bright centre, heart bulging to the patient's left.
        if (Math.abs(x - 4) < 26 || inEllipse(x, y, 22, 55, 62, 55) <= 1) v = Math.max(v, 2600);
        if (Math.abs(x) < 14) v = Math.max(v, 2900); // spine
        // Diaphragm / abdomen below the lungs.
        if (y > 95 + 0.1 * Math.abs(x)) v = Math.max(v, 2500);
        if (o.lesion) {
          const [cx, cy] = o.lesion.centerMm;
          const d2 = (x - cx) ** 2 + (y - cy) ** 2;
          if (d2 < o.lesion.radiusMm ** 2)
            v += (o.lesion.value - v) * Math.sqrt(1 - d2 / o.lesion.radiusMm ** 2);
        }
        v += 20 * o.rng.gaussian();
      }
      out[r * o.columns + c] = Math.min(4095, Math.max(0, v));
    }
  }
  return out;
}

/** A small ultrasound-like sector image (0..255) with speckle. */
export function usSector(o: ImageGeometry & { readonly rng: Rng }): Float32Array {
  const out = new Float32Array(o.rows * o.columns);
  const apexC = (o.columns - 1) / 2;
  for (let r = 0; r < o.rows; r++) {
    for (let c = 0; c < o.columns; c++) {
      const dx = c - apexC;
      const dy = r + 4;
      const angle = Math.atan2(dx, dy);
      const depth = Math.hypot(dx, dy);
      let v = 0;
      if (Math.abs(angle) < 0.6 && depth < o.rows - 4) {
        const cyst = Math.hypot(dx - 10, r - o.rows * 0.55) < o.rows * 0.12;
        v = cyst ? 10 + 8 * o.rng.next() : 70 + 60 * o.rng.next() * (1 - depth / (o.rows * 1.5));
      }
      out[r * o.columns + c] = Math.min(255, Math.max(0, v));
    }
  }
  return out;
}
