import type { RouteObject } from "react-router";

/** The messaging screens (paths listed in web/README.md). */
export const routes: RouteObject[] = [];
