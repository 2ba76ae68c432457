/**
 * Keyed, one-way derivations (HMAC-SHA256 under the de-identification key): new UIDs, the
 * pseudonymous patient id and name, and the per-patient date shift. Same key + same input give the
 * same output across files, uploads and runs; without the key they cannot be reversed or linked.
 */
import { createHmac } from 'node:crypto';

const hmac = (key: Uint8Array, message: string): Buffer =>
  createHmac('sha256', key).update(message, 'utf8').digest();

/** `2.25.<decimal of the first 128 bits of HMAC-SHA256(key, 'uid:' + uid)>` (at most 44 characters). */
export function remapUid(key: Uint8Array, uid: string): string {
  const n = BigInt(`0x${hmac(key, `uid:${uid}`).subarray(0, 16).toString('hex')}`);
  return `2.25.${n.toString(10)}`;
}

/** Pseudonymous Patient ID: 'ANON' + 16 upper-case hex digits of HMAC(key, 'patient:' + id). */
export function pseudonymousPatientId(key: Uint8Array, originalPatientId: string): string {
  return `ANON${hmac(key, `patient:${originalPatientId}`).subarray(0, 8).toString('hex').toUpperCase()}`;
}

/** Pseudonymous Patient Name (PN): family name 'ANONYMOUS', given name the pseudonymous id. */
export const pseudonymousPatientName = (pseudoId: string): string => `ANONYMOUS^${pseudoId}`;

/** Per-patient date shift in whole days, in -maxDays .. -1 (never 0, so no date stays real). */
export function dateShiftDays(key: Uint8Array, originalPatientId: string, maxDays: number): number {
  const n = hmac(key, `dateshift:${originalPatientId}`).readUInt32BE(0);
  return -(1 + (n % maxDays));
}

/**
 * Ids of pipeline inputs that reach outputs (job records, reports, logs, emails): keyed, so that a
 * list of guessed file or folder names cannot be checked against them, and short.
 *   - input ids name one uploaded object: 'in-' + 20 hex digits of HMAC(key, 'input:' + raw key);
 *   - batch references name an upload batch: 'b-' + 20 hex digits of HMAC(key, 'batch:' + id).
 * The restricted linkage record maps a batch reference back to the batch id.
 */
export const keyedInputId = (key: Uint8Array, rawKey: string): string =>
  `in-${hmac(key, `input:${rawKey}`).subarray(0, 10).toString('hex')}`;

export const keyedBatchRef = (key: Uint8Array, batchId: string): string =>
  `b-${hmac(key, `batch:${batchId}`).subarray(0, 10).toString('hex')}`;
