/**
 * Human names for KVM exit reasons, internal-error suberrors and system events.
 *
 * @module
 */

import { EXIT_REASONS, INTERNAL_ERRORS, SYSTEM_EVENTS } from "../kvm/abi.ts";

function invert(table: Record<string, number>): Map<number, string> {
  return new Map(Object.entries(table).map(([name, value]) => [value, name]));
}

const EXIT_NAMES = invert(EXIT_REASONS);
const INTERNAL_NAMES = invert(INTERNAL_ERRORS);
const SYSTEM_EVENT_NAMES = invert(SYSTEM_EVENTS);

/** `KVM_EXIT_HLT` for 5; `KVM_EXIT_<n>` for a number this table doesn't know. */
export function exitReasonName(reason: number): string {
  return EXIT_NAMES.get(reason) ?? `KVM_EXIT_${reason}`;
}

/** `KVM_INTERNAL_ERROR_EMULATION` for 1, and so on. */
export function internalErrorName(suberror: number): string {
  return INTERNAL_NAMES.get(suberror) ?? `KVM_INTERNAL_ERROR_${suberror}`;
}

/** `KVM_SYSTEM_EVENT_SHUTDOWN` for 1, and so on. */
export function systemEventName(type: number): string {
  return SYSTEM_EVENT_NAMES.get(type) ?? `KVM_SYSTEM_EVENT_${type}`;
}
