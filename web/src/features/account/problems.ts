/** What a person should read for the sign-in errors that deserve more than the server's words. */
import { ApiError } from "../../api/client";

/** Seconds to wait before retrying a 429, when the answer said (Retry-After); else the text says "a little while". */
export function retryAfterSeconds(error: ApiError): number | undefined {
  const value = error.retryAfter;
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : undefined;
}

export function waitText(error: ApiError): string {
  const seconds = retryAfterSeconds(error);
  if (seconds === undefined) return "Wait a little while, then try again.";
  if (seconds < 90) return `Try again in ${Math.ceil(seconds)} seconds.`;
  return `Try again in ${Math.ceil(seconds / 60)} minutes.`;
}

/** The error a sign-in step shows: clearer words for wrong credentials and throttling. */
export function signInError(error: unknown, step: "password" | "code"): unknown {
  if (!(error instanceof ApiError)) return error;
  if (error.status === 401 && step === "password") {
    return new ApiError(401, {
      title: "Wrong username, email or password",
      detail: "Check them and try again. After several failures, sign-in is paused for a while.",
    });
  }
  if (error.status === 401 && step === "code") {
    return new ApiError(401, {
      title: "That code did not work",
      detail: "Enter the current code from your authenticator app, or an unused recovery code. If this step has expired, start again.",
    });
  }
  if (error.status === 429) {
    return new ApiError(429, { title: "Too many attempts", detail: `Too many sign-in attempts from here. ${waitText(error)}` });
  }
  return error;
}
