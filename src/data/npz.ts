/** NumPy .npz archives (plain or compressed zip of .npy members), via fflate. */
import { unzipSync } from 'fflate';
import { NpyFormatError, parseNpy, type NpyArray } from './npy.js';

/** `checkMembers` sees the extracted members before they are parsed (load checks their CRCs there). */
export function parseNpz(buf: Uint8Array, where: string, only?: string[], checkMembers?: (members: Record<string, Uint8Array>) => void): Record<string, NpyArray> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(buf, only ? { filter: (f) => only.includes(f.name.replace(/\.npy$/, '')) } : undefined);
  } catch (err) {
    throw new NpyFormatError(`${where}: not a readable .npz (zip) archive: ${(err as Error).message}; is it complete? Download it again or re-save it with numpy.savez`);
  }
  checkMembers?.(entries);
  const out: Record<string, NpyArray> = {};
  for (const [name, bytes] of Object.entries(entries)) {
    const key = name.replace(/\.npy$/, '');
    out[key] = parseNpy(bytes, `${where}[${key}]`);
  }
  return out;
}
