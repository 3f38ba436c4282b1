/** Changing the password (the current one required); auth signs the other sessions out. */
import { useState, type FormEvent } from "react";
import { ApiError } from "../../api/client";
import { useAction } from "../../api/hooks";
import { Button, ErrorMessage, Field, Notice } from "../../ui/ui";
import { changePassword } from "./api";
import { PASSWORD_MAX, PASSWORD_MIN } from "./registration";

export function PasswordSection({ onChanged }: { onChanged: () => void }) {
  const [mismatch, setMismatch] = useState<string>();
  const [done, setDone] = useState(false);
  const change = useAction(async (current: string, next: string) => {
    await changePassword(current, next);
    setDone(true);
    onChanged();
    return true;
  });
  const fields = change.error instanceof ApiError ? change.error.fields : {};

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const next = String(data.get("new_password") ?? "");
    setDone(false);
    if (next !== data.get("confirmation")) {
      setMismatch("The two new passwords differ.");
      return;
    }
    setMismatch(undefined);
    void change.run(String(data.get("current_password") ?? ""), next).then((ok) => ok && form.reset());
  };

  return (
    <section aria-labelledby="password-title">
      <h2 id="password-title">Change your password</h2>
      <form aria-labelledby="password-title" noValidate onSubmit={submit}>
        <Field label="Current password" name="current_password" type="password" autoComplete="current-password" required error={fields.current_password} />
        <Field
          label="New password"
          name="new_password"
          type="password"
          autoComplete="new-password"
          required
          hint={`${PASSWORD_MIN} to ${PASSWORD_MAX} characters; common passwords are refused. Your other sessions will be signed out.`}
          error={fields.new_password}
        />
        <Field label="Confirm new password" name="confirmation" type="password" autoComplete="new-password" required error={mismatch} />
        <ErrorMessage error={change.error} />
        {done && <Notice>Password changed. Your other sessions have been signed out.</Notice>}
        <div>
          <Button type="submit" busy={change.busy}>
            Change password
          </Button>
        </div>
      </form>
    </section>
  );
}
