/** Grayscale pixels to PNG bytes through @napi-rs/canvas. */
export async function encodeGrayPng(width: number, height: number, gray: ArrayLike<number>): Promise<Uint8Array> {
  const { createCanvas } = await import('@napi-rs/canvas');
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    image.data[i * 4] = image.data[i * 4 + 1] = image.data[i * 4 + 2] = gray[i]!; // gray holds width × height pixels
    image.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas.encode('png');
}

