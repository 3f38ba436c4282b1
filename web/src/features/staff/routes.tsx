import type { RouteObject } from "react-router";
import { RequireStaff } from "../../ui/guards";
import { Ledger } from "./Ledger";
import { LoginActivity } from "./LoginActivity";
import { Reports } from "./Reports";
import { StaffHome } from "./StaffHome";
import { Verifications } from "./Verifications";

/** The staff screens: every one behind RequireStaff (the API refuses non-staff anyway; this says why). */
export const routes: RouteObject[] = [
  { path: "/staff", element: <RequireStaff><StaffHome /></RequireStaff> },
  { path: "/staff/verifications", element: <RequireStaff><Verifications /></RequireStaff> },
  { path: "/staff/reports", element: <RequireStaff><Reports /></RequireStaff> },
  { path: "/staff/login-activity", element: <RequireStaff><LoginActivity /></RequireStaff> },
  { path: "/staff/ledger", element: <RequireStaff><Ledger /></RequireStaff> },
];
