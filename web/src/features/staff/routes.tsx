import type { RouteObject } from "react-router";

/** The staff screens (paths listed in web/README.md). */
export const routes: RouteObject[] = [];
