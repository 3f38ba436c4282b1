import type { RouteObject } from "react-router";
import { RequireSignIn } from "../../ui/guards";
import { LandingPage } from "./Landing";
import { LoginPage } from "./Login";
import { PasswordResetPage } from "./PasswordReset";
import { RegisterPage } from "./Register";
import { SecurityPage } from "./Security";
import { VerificationPage } from "./Verification";

/** The account screens: landing/home, registration, sign-in, password reset, security, verification. */
export const routes: RouteObject[] = [
  { index: true, element: <LandingPage /> },
  { path: "register", element: <RegisterPage /> },
  { path: "login", element: <LoginPage /> },
  { path: "password-reset", element: <PasswordResetPage /> },
  {
    path: "security",
    element: (
      <RequireSignIn>
        <SecurityPage />
      </RequireSignIn>
    ),
  },
  {
    path: "verification",
    element: (
      <RequireSignIn>
        <VerificationPage />
      </RequireSignIn>
    ),
  },
];
