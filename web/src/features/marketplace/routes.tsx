import type { RouteObject } from "react-router";

/** The marketplace screens (paths listed in web/README.md). */
export const routes: RouteObject[] = [];
