import type { RouteObject } from "react-router";

/** The account screens (paths listed in web/README.md). */
export const routes: RouteObject[] = [];
