import type { RouteObject } from "react-router";

/** The social screens (paths listed in web/README.md). */
export const routes: RouteObject[] = [];
