/**
 * Writes TensorBoard event files: TFRecord framing (length, masked CRC-32C)
 * around Event protos carrying scalar summaries. The protobuf subset needed is
 * tiny, so it is encoded here rather than pulling in a protobuf runtime.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8); // the table has 256 entries
  return (crc ^ 0xffffffff) >>> 0;
}

function maskedCrc(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

const tag = (field: number, wire: number) => varint((field << 3) | wire);
const lengthDelimited = (field: number, bytes: Uint8Array | number[]) => [...tag(field, 2), ...varint(bytes.length), ...bytes];

function double(field: number, value: number): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, value, true);
  return [...tag(field, 1), ...b];
}

function float(field: number, value: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, value, true);
  return [...tag(field, 5), ...b];
}

function eventProto(wallTime: number, step: number, body: number[]): Uint8Array {
  return Uint8Array.from([...double(1, wallTime), ...tag(2, 0), ...varint(step), ...body]);
}

function record(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc(data), true);
  return out;
}

export class SummaryWriter {
  private constructor(readonly file: string) {}

  static async create(dir: string): Promise<SummaryWriter> {
    await mkdir(dir, { recursive: true });
    const file = join(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname()}.${process.pid}.inkflow`);
    const version = lengthDelimited(3, [...new TextEncoder().encode('brain.Event:2')]);
    await writeFile(file, record(eventProto(Date.now() / 1000, 0, version)));
    return new SummaryWriter(file);
  }

  async scalars(step: number, values: Record<string, number>): Promise<void> {
    const items = Object.entries(values).flatMap(([name, v]) => lengthDelimited(1, [...lengthDelimited(1, [...new TextEncoder().encode(name)]), ...float(2, v)]));
    await appendFile(this.file, record(eventProto(Date.now() / 1000, step, lengthDelimited(5, items))));
  }
}
