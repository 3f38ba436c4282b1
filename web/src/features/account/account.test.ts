import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import { describeUserAgent } from "./devices";
import { returnPath } from "./navigation";
import { signInError, waitText } from "./problems";
import { registrationProblems, workDone } from "./registration";
import { groupSecret } from "./TwoFactor";

const GOOD = { username: "ada.l_1", email: "ada@example.com", phone: "+14155550123", password: "correct horse battery" };

describe("registration checks before the proof of work", () => {
  it("let a valid registration through (the username's case does not matter, as on the server)", () => {
    expect(registrationProblems(GOOD, GOOD.password)).toEqual({});
    expect(registrationProblems({ ...GOOD, username: "Ada.L_1" }, GOOD.password)).toEqual({});
  });

  it("name each field that the server would refuse", () => {
    const problems = registrationProblems({ username: "a!", email: "nope", phone: "0123", password: "short" }, "other");
    expect(Object.keys(problems).sort()).toEqual(["confirmation", "email", "password", "phone", "username"]);
  });

  it("refuse a password over 128 characters", () => {
    const long = "x".repeat(129);
    expect(registrationProblems({ ...GOOD, password: long }, long).password).toMatch(/8 to 128/);
  });
});

describe("the proof-of-work progress", () => {
  it("is measured against the expected work", () => {
    expect(workDone(512, 1024)).toMatchObject({ value: 512, percent: 50, label: "50% of the expected work" });
    expect(workDone(0, 1024).label).toBe("0% of the expected work");
    expect(workDone(3, 1024).label).toBe("under 1% of the expected work");
  });

  it("stays full and says so when the search takes longer than average", () => {
    const done = workDone(3000, 1000);
    expect(done.value).toBe(1000);
    expect(done.percent).toBe(300);
    expect(done.label).toMatch(/longer than average/);
  });
});

describe("where sign-in returns to", () => {
  it("is the page that asked for it, query included", () => {
    expect(returnPath({ from: "/security?tab=2" })).toBe("/security?tab=2");
    expect(returnPath({ from: { pathname: "/market/items/1", search: "?x=1" } })).toBe("/market/items/1?x=1");
  });

  it("is home without a page, or for one that would leave the site or loop back to sign-in", () => {
    expect(returnPath(null)).toBe("/");
    expect(returnPath({ from: "//evil.example/" })).toBe("/");
    expect(returnPath({ from: "/\\evil.example" })).toBe("/");
    expect(returnPath({ from: "https://evil.example/" })).toBe("/");
    expect(returnPath({ from: "/login" })).toBe("/");
    expect(returnPath({ from: "/register?x" })).toBe("/");
    expect(returnPath({ from: "/loginhelp" })).toBe("/loginhelp");
  });
});

describe("sign-in errors", () => {
  it("say plainly that the credentials were wrong", () => {
    const shown = signInError(new ApiError(401, { title: "Unauthorized", detail: "invalid credentials" }), "password") as ApiError;
    expect(shown.title).toBe("Wrong username, email or password");
  });

  it("say how long to wait after too many attempts, when the answer tells", () => {
    const throttled = new ApiError(429, { title: "Too many requests" }, 10);
    expect(waitText(throttled)).toBe("Try again in 10 seconds.");
    expect(waitText(new ApiError(429, {}, 600))).toBe("Try again in 10 minutes.");
    expect(waitText(new ApiError(429, {}))).toBe("Wait a little while, then try again.");
    expect((signInError(throttled, "password") as ApiError).detail).toMatch(/10 seconds/);
  });

  it("leave other errors as they came", () => {
    const other = new ApiError(503, { title: "Service unavailable" });
    expect(signInError(other, "password")).toBe(other);
  });
});

describe("a session's device", () => {
  it("is named by browser and system", () => {
    const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36";
    expect(describeUserAgent(chrome)).toBe("Chrome on Linux");
    const headless = chrome.replace("Chrome/", "HeadlessChrome/");
    expect(describeUserAgent(headless)).toBe("Chromium (headless) on Linux");
    const firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
    expect(describeUserAgent(firefox)).toBe("Firefox on Windows");
    const iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
    expect(describeUserAgent(iphone)).toBe("Safari on iOS");
  });

  it("falls back to the product name, or says it is unknown", () => {
    expect(describeUserAgent("curl/8.5.0")).toBe("curl");
    expect(describeUserAgent(null)).toBe("Unknown device");
  });
});

describe("the 2FA secret shown for typing", () => {
  it("is grouped by four without changing it", () => {
    expect(groupSecret("JBSWY3DPEHPK3PXPJBSW")).toBe("JBSW Y3DP EHPK 3PXP JBSW");
    expect(groupSecret("ABCDEF")).toBe("ABCD EF");
  });
});
