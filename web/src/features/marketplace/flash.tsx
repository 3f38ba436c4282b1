import { useLocation } from "react-router";
import { Notice } from "../../ui/ui";

/** A confirmation handed over by the screen that navigated here (`navigate(path, {state: {notice}})`). */
export function FlashNotice() {
  const location = useLocation();
  const notice = (location.state as { notice?: unknown } | null)?.notice;
  return typeof notice === "string" ? <Notice>{notice}</Notice> : null;
}
