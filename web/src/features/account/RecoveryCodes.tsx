/** One-time recovery codes, shown once: to copy or download before leaving the page. */
import { useState } from "react";
import { Notice } from "../../ui/ui";

export function RecoveryCodes({ codes, username, onDone }: { codes: string[]; username: string; onDone: () => void }) {
  const [copied, setCopied] = useState<string>();
  const [copyError, setCopyError] = useState<string>();
  const text = `BeYou recovery codes for ${username}\nEach code works once, in place of an authenticator code.\n\n${codes.join("\n")}\n`;

  const copy = async () => {
    setCopyError(undefined);
    try {
      await navigator.clipboard.writeText(text);
      setCopied("Copied to the clipboard.");
    } catch {
      setCopyError("This browser did not allow copying: select the codes and copy them, or download them.");
    }
  };

  const download = () => {
    // A Blob URL, not a data: link, so the text never sits in the page's markup.
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = `beyou-recovery-codes-${username}.txt`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 0);
  };

  return (
    <section className="panel recovery" aria-labelledby="recovery-title">
      <h3 id="recovery-title">Your recovery codes</h3>
      <p className="warning">
        Save these now: they are shown only once. If you lose your authenticator, each code lets you sign in (or reset your password)
        once.
      </p>
      <ul className="recovery-codes" aria-label="Recovery codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <div className="row">
        <button type="button" className="button secondary" onClick={() => void copy()}>
          Copy codes
        </button>
        <button type="button" className="button secondary" onClick={download}>
          Download codes
        </button>
        <button type="button" className="button" onClick={onDone}>
          I have saved them
        </button>
      </div>
      {copied && <Notice>{copied}</Notice>}
      {copyError && (
        <p className="error" role="alert">
          {copyError}
        </p>
      )}
    </section>
  );
}
