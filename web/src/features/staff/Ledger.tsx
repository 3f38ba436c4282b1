/**
 * /staff/ledger: the message ledger's state (tree size, blocks, the last signed checkpoint and the
 * integrity verdict), what it holds per conversation, and the audit: run on demand, its report
 * shown, with the API's answers for "another audit is running" (409) and "stopped for time"
 * (complete: false, the next incremental audit continues) turned into next steps.
 */
import { useState } from "react";
import { ApiError } from "../../api/client";
import { useAction, useAsync } from "../../api/hooks";
import { Button, ErrorMessage, formatDateTime, Loaded, Page } from "../../ui/ui";
import { Id, LoadMore, usePagedList } from "./parts";
import { getCheckpoint, getLatestBlock, listConversationStats, runAudit, type AuditMode, type AuditReport, type ConversationStats } from "./staffApi";
import { StaffNav } from "./StaffNav";
import "./staff.css";

export function Ledger() {
  const state = useAsync(async (signal) => {
    const [checkpoint, block] = await Promise.all([getCheckpoint(signal), getLatestBlock(signal)]);
    return { checkpoint, block };
  }, []);
  return (
    <Page title="Ledger">
      <StaffNav />
      <section aria-labelledby="ledger-state">
        <h2 id="ledger-state">State</h2>
        <Loaded state={state}>
          {({ checkpoint, block }) =>
            !checkpoint || !block ? (
              <p className="muted">Nothing has been sealed into a block yet.</p>
            ) : (
              <>
                <dl className="staff-figures">
                  <div>
                    <dt>Tree size (records)</dt>
                    <dd>{checkpoint.tree_size.toLocaleString()}</dd>
                  </div>
                  <div>
                    <dt>Blocks</dt>
                    {/* Heights count from block 0. */}
                    <dd>{(block.height + 1).toLocaleString()}</dd>
                  </div>
                  <div>
                    <dt>Last checkpoint</dt>
                    <dd>
                      <time dateTime={block.timestamp}>{formatDateTime(block.timestamp)}</time>
                    </dd>
                  </div>
                  <div>
                    <dt>Integrity</dt>
                    <dd>
                      <span className={`status ${checkpoint.integrity === "ok" ? "status-approved" : "status-rejected"}`}>
                        {checkpoint.integrity === "ok" ? "OK" : "Failed: see the audit"}
                      </span>
                    </dd>
                  </div>
                </dl>
                <details className="staff-details">
                  <summary>The signed checkpoint</summary>
                  <p>
                    Origin <code>{checkpoint.origin}</code>, root hash <code className="staff-id">{checkpoint.root_hash}</code>, latest block{" "}
                    {block.height.toLocaleString()} ({block.leaf_count.toLocaleString()} records, proof-of-work difficulty {block.difficulty}).
                  </p>
                  <pre className="staff-note">{checkpoint.note}</pre>
                </details>
              </>
            )
          }
        </Loaded>
        <Button type="button" className="button secondary" busy={state.loading && state.data !== undefined} onClick={state.reload}>
          Refresh
        </Button>
      </section>
      <Audit onAudited={state.reload} />
      <PerConversation />
    </Page>
  );
}

function Audit({ onAudited }: { onAudited: () => void }) {
  const [mode, setMode] = useState<AuditMode>("incremental");
  const [report, setReport] = useState<AuditReport>();
  const audit = useAction(async (chosen: AuditMode) => {
    setReport(undefined);
    const result = await runAudit(chosen);
    setReport(result);
    // A failed audit turns the checkpoint's integrity to failed; a clean full one back to ok.
    onAudited();
    return result;
  });
  const running = audit.error instanceof ApiError && audit.error.status === 409;
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit</h2>
      <p className="muted">
        The audit recomputes leaf hashes, tiles, block links, proofs of work and signatures from storage and names the first bad record. An incremental audit
        checks what is new since the last one; a full audit starts again from the empty tree (it may take several requests on a large log).
      </p>
      <form
        className="staff-audit-form"
        onSubmit={(event) => {
          event.preventDefault();
          void audit.run(mode);
        }}
      >
        <fieldset>
          <legend>Kind of audit</legend>
          <label>
            <input type="radio" name="audit-mode" value="incremental" checked={mode === "incremental"} onChange={() => setMode("incremental")} /> Incremental
          </label>
          <label>
            <input type="radio" name="audit-mode" value="full" checked={mode === "full"} onChange={() => setMode("full")} /> Full
          </label>
        </fieldset>
        <div className="row">
          <Button type="submit" busy={audit.busy}>
            {audit.busy ? "Auditing…" : "Run the audit"}
          </Button>
        </div>
      </form>
      {running ? (
        <div className="warning" role="alert">
          <strong>Another audit is running</strong> (the ledger worker audits on a schedule). Ask again in a few seconds.{" "}
          <Button type="button" className="button secondary" onClick={() => void audit.run(mode)}>
            Try again
          </Button>
        </div>
      ) : (
        <ErrorMessage error={audit.error} />
      )}
      {report && <AuditResult report={report} onContinue={() => void audit.run("incremental")} busy={audit.busy} />}
    </section>
  );
}

function AuditResult({ report, onContinue, busy }: { report: AuditReport; onContinue: () => void; busy: boolean }) {
  const ok = report.status === "ok";
  return (
    <div className={ok ? "panel staff-audit-ok" : "error"} role={ok ? "status" : "alert"}>
      <p>
        <strong>{ok ? (report.complete ? "The audit found the log intact." : "No problem found so far.") : "The audit found the log tampered with."}</strong>
      </p>
      {report.finding && (
        <p>
          First bad record: {report.finding.what}
          {report.finding.leaf_index !== null && ` at leaf ${report.finding.leaf_index.toLocaleString()}`}
          {report.finding.block_height !== null && ` in block ${report.finding.block_height.toLocaleString()}`}: {report.finding.detail}
        </p>
      )}
      <dl className="staff-facts">
        <dt>Kind</dt>
        <dd>{report.mode}</dd>
        <dt>Checked</dt>
        <dd>
          {report.leaves_checked.toLocaleString()} records in {report.blocks_checked.toLocaleString()} blocks, in {report.seconds.toFixed(1)} s
        </dd>
        <dt>Audited up to</dt>
        <dd>
          tree size {report.tree_size.toLocaleString()}
          {report.block_height !== null && `, block ${report.block_height.toLocaleString()}`}
        </dd>
        <dt>At</dt>
        <dd>{formatDateTime(report.checked_at)}</dd>
      </dl>
      {!report.complete && (
        <p>
          The audit stopped for time before the last block; an incremental audit continues from there.{" "}
          <Button type="button" className="button secondary" busy={busy} onClick={onContinue}>
            Continue the audit
          </Button>
        </p>
      )}
    </div>
  );
}

function PerConversation() {
  const list = usePagedList<ConversationStats & { id: string }>(async (cursor, signal) => {
    const page = await listConversationStats(cursor, signal);
    return { ...page, items: page.items.map((row) => ({ ...row, id: row.conversation_id })) };
  }, []);
  return (
    <section aria-labelledby="per-conversation">
      <h2 id="per-conversation">Per conversation</h2>
      <Loaded state={list}>
        {(page) =>
          page.items.length === 0 ? (
            <p className="muted">No conversation has a sealed message yet.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <caption className="visually-hidden">Messages sealed per conversation</caption>
                <thead>
                  <tr>
                    <th scope="col">Conversation</th>
                    <th scope="col" className="number">
                      Messages
                    </th>
                    <th scope="col" className="number">
                      Blocks
                    </th>
                    <th scope="col" className="number">
                      First block
                    </th>
                    <th scope="col" className="number">
                      Last block
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((row) => (
                    <tr key={row.id}>
                      <th scope="row">
                        <Id value={row.conversation_id} />
                      </th>
                      <td className="number">{row.message_count.toLocaleString()}</td>
                      <td className="number">{row.block_count.toLocaleString()}</td>
                      <td className="number">{row.first_block.toLocaleString()}</td>
                      <td className="number">{row.last_block.toLocaleString()}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
      <LoadMore list={list} />
    </section>
  );
}
