/**
 * The auth endpoints the account screens use, typed after auth's OpenAPI document
 * (GET /api/auth/openapi.json). Sign-in calls ask for auth's browser mode: the refresh token
 * comes back as an HttpOnly cookie, never in the answer, so no script here ever holds it.
 */
import { api } from "../../api/client";
import type { Account } from "../../api/session";

const BROWSER = { mode: "browser" } as const;

export interface Challenge {
  id: string;
  token: string;
  /** Leading zero bits required of SHA-256("<token>:<nonce>"). */
  difficulty: number;
  expires_at: string;
}

export interface Registration {
  username: string;
  email: string;
  phone: string;
  password: string;
}

/** A sign-in's answer: an access token, or the second step when 2FA is on. */
export interface LoginResult {
  access_token?: string;
  token_type?: string;
  expires_in?: number;
  session_id?: string;
  mfa_required?: boolean;
  mfa_token?: string;
}

export interface SessionInfo {
  id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
  revoked: boolean;
  revoked_at: string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface TwoFactorSetup {
  secret: string;
  otpauth_uri: string;
  /** The otpauth URI as a QR code: a base64 PNG (no data: prefix). */
  qr_png_base64: string;
}

export interface PasswordResetStarted {
  reset_id: string;
  expires_at: string;
}

export interface VerificationRequest {
  id: string;
  reason: string;
  status: "pending" | "approved" | "rejected";
  document_type: string;
  document_size: number;
  created_at: string;
  decided_at: string | null;
  /** Staff's notes: for a rejection, what to send next time. */
  notes: string | null;
}

export const getChallenge = () => api<Challenge>("/api/auth/challenge", { method: "POST", auth: false });

export const register = (details: Registration, challenge: { token: string; nonce: string }) =>
  api<Account>("/api/auth/register", { json: { ...details, challenge }, auth: false });

export const login = (username: string, password: string) =>
  api<LoginResult>("/api/auth/login", { json: { username, password, ...BROWSER }, auth: false });

export const loginSecondFactor = (mfaToken: string, code: string) =>
  api<LoginResult>("/api/auth/login/2fa", { json: { mfa_token: mfaToken, code, ...BROWSER }, auth: false });

export const listSessions = (cursor: string | null, signal?: AbortSignal) =>
  api<Page<SessionInfo>>("/api/auth/sessions", { query: { limit: 20, cursor }, signal });

export const revokeSession = (id: string) => api<void>(`/api/auth/sessions/${encodeURIComponent(id)}`, { method: "DELETE" });

export const revokeOtherSessions = () => api<{ revoked: number }>("/api/auth/sessions/revoke-others", { method: "POST" });

export const changePassword = (currentPassword: string, newPassword: string) =>
  api<void>("/api/auth/me/password", { json: { current_password: currentPassword, new_password: newPassword } });

export const startTwoFactorSetup = (password: string) => api<TwoFactorSetup>("/api/auth/2fa/setup", { json: { password } });

export const confirmTwoFactor = (code: string) => api<{ recovery_codes: string[] }>("/api/auth/2fa/confirm", { json: { code } });

export const disableTwoFactor = (password: string, code: string) => api<void>("/api/auth/2fa/disable", { json: { password, code } });

export const replaceRecoveryCodes = (code: string) =>
  api<{ recovery_codes: string[] }>("/api/auth/2fa/recovery-codes", { json: { code } });

export const startPasswordReset = (usernameOrEmail: string) =>
  api<PasswordResetStarted>("/api/auth/password-reset", { json: { username_or_email: usernameOrEmail }, auth: false });

export const verifyPasswordReset = (resetId: string, code: string) =>
  api<{ reset_id: string; verified: boolean; expires_at: string }>(
    `/api/auth/password-reset/${encodeURIComponent(resetId)}/verify`,
    { json: { code }, auth: false },
  );

export const confirmPasswordReset = (resetId: string, newPassword: string) =>
  api<void>(`/api/auth/password-reset/${encodeURIComponent(resetId)}/confirm`, { json: { new_password: newPassword }, auth: false });

export const listVerificationRequests = (signal?: AbortSignal) =>
  api<Page<VerificationRequest>>("/api/auth/verification", { query: { limit: 20 }, signal });

export function submitVerification(document: File, reason: string) {
  const form = new FormData();
  form.append("reason", reason);
  form.append("document", document, document.name);
  return api<VerificationRequest>("/api/auth/verification", { method: "POST", form });
}
