import type { RouteObject } from "react-router";

/** The keys screens (paths listed in web/README.md). */
export const routes: RouteObject[] = [];
