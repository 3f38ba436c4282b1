import { describe, expect, it } from "vitest";
import { imageProblem, moved } from "./images";

describe("pictures before upload", () => {
  it("accepts JPEG, PNG and WebP up to 5 MB", () => {
    expect(imageProblem({ name: "a.png", type: "image/png", size: 1000 })).toBeNull();
    expect(imageProblem({ name: "a.webp", type: "image/webp", size: 5 * 1024 * 1024 })).toBeNull();
  });

  it("names the file and the reason otherwise", () => {
    expect(imageProblem({ name: "a.gif", type: "image/gif", size: 10 })).toBe("a.gif: only JPEG, PNG or WebP pictures.");
    expect(imageProblem({ name: "big.jpg", type: "image/jpeg", size: 5 * 1024 * 1024 + 1 })).toBe("big.jpg: larger than 5 MB.");
  });
});

describe("reordering pictures", () => {
  it("swaps with the neighbour and stays put at the ends", () => {
    expect(moved(["a", "b", "c"], 1, -1)).toEqual(["b", "a", "c"]);
    expect(moved(["a", "b", "c"], 1, 1)).toEqual(["a", "c", "b"]);
    expect(moved(["a", "b", "c"], 0, -1)).toEqual(["a", "b", "c"]);
    expect(moved(["a", "b", "c"], 2, 1)).toEqual(["a", "b", "c"]);
  });
});
