/**
 * Small rules every layer shares and none owns: the coded error shape, the bounded map, the
 * abortable sleep and the back-off rule, and how sizes, counts and rates are written and read.
 * Imports nothing from the rest of p2pfs.
 *
 * @module
 */
export * from "./coded_error.ts";
export * from "./bounded_map.ts";
export * from "./sleep.ts";
export * from "./units.ts";
