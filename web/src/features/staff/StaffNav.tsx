import { NavLink } from "react-router";

export const STAFF_PAGES = [
  { to: "/staff", label: "Overview", end: true },
  { to: "/staff/verifications", label: "Verifications" },
  { to: "/staff/reports", label: "Reports" },
  { to: "/staff/login-activity", label: "Login activity" },
  { to: "/staff/ledger", label: "Ledger" },
];

/** The staff pages' own navigation, under each page's title. */
export function StaffNav() {
  return (
    <nav className="staff-nav" aria-label="Staff pages">
      <ul>
        {STAFF_PAGES.map((page) => (
          <li key={page.to}>
            <NavLink to={page.to} end={page.end}>
              {page.label}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}
