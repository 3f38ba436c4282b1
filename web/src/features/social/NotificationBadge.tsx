/** The unread-notification count in the navigation (filled in by the social screens). */
export function NotificationBadge() {
  return null;
}
