/** Checks made before uploading a picture, so a person learns at once what the server would refuse. */

export const MAX_IMAGES = 10;
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
export const IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp"];

/** Why this file cannot be a picture of an item, or null. The server judges the content again. */
export function imageProblem(file: { name: string; type: string; size: number }): string | null {
  if (!IMAGE_TYPES.includes(file.type)) return `${file.name}: only JPEG, PNG or WebP pictures.`;
  if (file.size > MAX_IMAGE_BYTES) return `${file.name}: larger than 5 MB.`;
  return null;
}

/** The ids in their new order after moving the one at `from` by `step` (−1 up, +1 down). */
export function moved<T>(list: T[], from: number, step: -1 | 1): T[] {
  const to = from + step;
  if (to < 0 || to >= list.length) return list;
  const copy = [...list];
  [copy[from], copy[to]] = [copy[to], copy[from]];
  return copy;
}
