/**
 * The staff endpoints the staff screens use (auth, social and ledger `admin/`), with the shapes
 * their OpenAPI documents give. Every call goes through the shared `api()` so errors arrive as
 * problem+json `ApiError`s and the access token is refreshed the usual way.
 */
import { api, ApiError } from "../../api/client";

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

// --- auth: identity verification --------------------------------------------------------------

export type VerificationStatus = "pending" | "approved" | "rejected";
export const VERIFICATION_STATUSES: VerificationStatus[] = ["pending", "approved", "rejected"];

export interface VerificationRequest {
  id: string;
  user_id: string;
  reason: string;
  status: VerificationStatus;
  /** The content type auth detected from the document's bytes: image/jpeg, image/png or application/pdf. */
  document_type: string;
  document_size: number;
  document_sha256: string;
  created_at: string;
  decided_at: string | null;
  notes: string | null;
  decided_by: string | null;
}

export function listVerifications(status: VerificationStatus, cursor: string | null, signal?: AbortSignal, limit = 20) {
  return api<Page<VerificationRequest>>("/api/auth/admin/verifications", { query: { status, cursor, limit }, signal });
}

export const verificationDocumentPath = (id: string) => `/api/auth/admin/verifications/${encodeURIComponent(id)}/document`;

export function approveVerification(id: string, notes: string) {
  // Notes are optional on approval: null rather than an empty string, which the API would record.
  return api<VerificationRequest>(`/api/auth/admin/verifications/${encodeURIComponent(id)}/approve`, {
    method: "POST",
    json: { notes: notes.trim() || null },
  });
}

export function rejectVerification(id: string, notes: string) {
  return api<VerificationRequest>(`/api/auth/admin/verifications/${encodeURIComponent(id)}/reject`, {
    method: "POST",
    json: { notes: notes.trim() },
  });
}

// --- auth: login activity ---------------------------------------------------------------------

export type AttemptKind = "login" | "2fa" | "refresh" | "password" | "reset";

export interface LoginAttempt {
  id: number;
  occurred_at: string;
  kind: AttemptKind;
  username: string;
  user_id: string | null;
  ip: string | null;
  user_agent: string | null;
  /** null while the attempt is still being checked. */
  success: boolean | null;
  failure_reason: string | null;
  session_id: string | null;
}

export interface LoginActivityStats {
  total: number;
  successes: number;
  failures: number;
  unique_users: number;
  unique_ips: number;
  most_failed_usernames: { username: string; failures: number }[];
  most_failed_ips: { ip: string; failures: number }[];
  recent_failures: LoginAttempt[];
}

/** The filters the login-activity endpoint has; times are ISO-8601 UTC. */
export interface LoginActivityQuery {
  username?: string;
  ip?: string;
  success?: boolean;
  from?: string;
  to?: string;
}

export function listLoginActivity(filters: LoginActivityQuery, cursor: string | null, limit: number, signal?: AbortSignal) {
  return api<Page<LoginAttempt>>("/api/auth/admin/login-activity", { query: { ...filters, cursor, limit }, signal });
}

export function loginActivityStats(range: { from?: string; to?: string }, signal?: AbortSignal) {
  return api<LoginActivityStats>("/api/auth/admin/login-activity/stats", { query: range, signal });
}

// --- social: reports and moderation -----------------------------------------------------------

export type ReportStatus = "open" | "in_review" | "resolved";
export type ReportTargetType = "user" | "message" | "item";
export type ModerationAction = "dismiss" | "warn" | "suspend" | "ban" | "remove_content";

export interface AdminReport {
  id: string;
  target_type: ReportTargetType;
  target_id: string;
  reason: string;
  status: ReportStatus;
  action: ModerationAction | null;
  /** Path of the screenshot (image/webp) served to the reporter and staff, or null. */
  screenshot: string | null;
  created_at: string;
  resolved_at: string | null;
  reporter_id: string;
  /** Whose the target is: the user reported, the message's sender, the item's seller. */
  target_user_id: string;
  reviewer_id: string | null;
  review_started_at: string | null;
  notes: string | null;
  duration_seconds: number | null;
  resolved_by: string | null;
}

export interface ReportQuery {
  status?: ReportStatus;
  target_type?: ReportTargetType;
}

export function listReports(filters: ReportQuery, cursor: string | null, signal?: AbortSignal, limit = 20) {
  return api<Page<AdminReport>>("/api/social/admin/reports", { query: { ...filters, cursor, limit }, signal });
}

export function takeReportIntoReview(id: string) {
  return api<AdminReport>(`/api/social/admin/reports/${encodeURIComponent(id)}/review`, { method: "POST" });
}

export interface Resolution {
  action: ModerationAction;
  notes: string;
  /** Required for suspend, refused for every other action. */
  duration_seconds?: number | null;
}

export function resolveReport(id: string, resolution: Resolution) {
  return api<AdminReport>(`/api/social/admin/reports/${encodeURIComponent(id)}/resolve`, { method: "POST", json: resolution });
}

/** A reported item as its public page shows it (404 once removed or its seller banned). */
export interface ReportedItem {
  id: string;
  title: string;
  seller_id: string;
  seller_username: string | null;
  status: string;
  price_minor: number;
  currency: string;
  description: string;
}

export function getItem(id: string, signal?: AbortSignal) {
  return api<ReportedItem>(`/api/marketplace/items/${encodeURIComponent(id)}`, { signal });
}

/** A reported message's ledger leaf: staff cannot read a conversation they are not in, but the log is public. */
export interface MessageEntry {
  leaf_index: number;
  leaf_hash: string;
  block_height: number | null;
  removed: boolean;
}

export function getMessageEntry(id: string, signal?: AbortSignal) {
  return api<MessageEntry>(`/api/ledger/entries/${encodeURIComponent(id)}`, { signal });
}

// --- ledger -----------------------------------------------------------------------------------

export interface Checkpoint {
  origin: string;
  tree_size: number;
  root_hash: string;
  note: string;
  integrity: "ok" | "failed" | string;
}

export interface Block {
  height: number;
  hash: string;
  tree_size: number;
  leaf_count: number;
  timestamp: string;
  difficulty: number;
}

export interface ConversationStats {
  conversation_id: string;
  message_count: number;
  block_count: number;
  first_block: number;
  last_block: number;
}

export interface AuditFinding {
  what: string;
  leaf_index: number | null;
  block_height: number | null;
  detail: string;
}

export interface AuditReport {
  mode: string;
  status: "ok" | "failed" | string;
  finding: AuditFinding | null;
  complete: boolean;
  tree_size: number;
  block_height: number | null;
  leaves_checked: number;
  blocks_checked: number;
  seconds: number;
  checked_at: string;
}

export type AuditMode = "incremental" | "full";

/** The latest checkpoint, or null before the first block (the API's 404). */
export async function getCheckpoint(signal?: AbortSignal): Promise<Checkpoint | null> {
  try {
    return await api<Checkpoint>("/api/ledger/checkpoint", { signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** The newest block, or null when none was mined yet. */
export async function getLatestBlock(signal?: AbortSignal): Promise<Block | null> {
  const page = await api<Page<Block>>("/api/ledger/blocks", { query: { limit: 1 }, signal });
  return page.items[0] ?? null;
}

export function listConversationStats(cursor: string | null, signal?: AbortSignal) {
  return api<Page<ConversationStats>>("/api/ledger/admin/stats", { query: { cursor, limit: 20 }, signal });
}

export function runAudit(mode: AuditMode) {
  return api<AuditReport>("/api/ledger/admin/audit", { method: "POST", query: { mode } });
}
