/**
 * One keepalive timer per interval value, shared by every stream with that interval, instead of
 * one timer per stream (issue 7, "One process, many streams": at 10,000 streams a `Timeout` each
 * is 10,000 timers to re-arm on every write).
 *
 * Each interval has a list of its streams ordered by the start of their current silence (a write
 * moves a stream to the tail, O(1)), so the head is always the next one due, and the one timer is
 * armed for the head's due time only. A keepalive still goes out only after `interval` ms of
 * silence *of that stream*. The timer exists only while the list is not empty: with no stream it
 * is cleared, so it never keeps a process alive on its own.
 */

/** A stream watched for silence. The link fields belong to this module. Internal. */
export interface IdleWatched {
  /** When the current silence began (the last write), as {@link clockNow} read it. */
  idleSince: number
  idlePrev: IdleWatched | undefined
  idleNext: IdleWatched | undefined
  idleGroup: IdleGroup | undefined
  /**
   * Called once the stream has been silent for its interval; its silence restarts first. Must not
   * throw: it runs inside the one timer every stream of the interval shares.
   */
  onIdle(): void
}

/** The streams sharing one interval, and their one timer. Internal. */
export interface IdleGroup {
  readonly interval: number
  head: IdleWatched | undefined
  tail: IdleWatched | undefined
  timer: ReturnType<typeof setTimeout> | undefined
}

// Created on first use, not at import (no side effects at import time).
let groups: Map<number, IdleGroup> | undefined

// `Date.now()` once per run of synchronous code and its microtasks, not once per write: a fan-out
// writes to every subscriber in one microtask, and on some hosts each reading is a system call
// (~0.2 µs measured here, a per-delivery cost as large as the rest of the channel's). A reading is
// at most that run old, far below a keepalive interval, and no timer can fire inside the run.
let clock: number | undefined

/** The run's reading; `fresh` reads the clock again (a timer firing), so later writes follow it. */
function clockNow(fresh = false): number {
  if (clock === undefined) queueMicrotask(resetClock)
  else if (!fresh) return clock
  clock = Date.now()
  return clock
}

function resetClock(): void {
  clock = undefined
}

/** Starts watching `stream` for `interval` ms of silence, from now. */
export function watchIdle(stream: IdleWatched, interval: number): void {
  groups ??= new Map()
  let group = groups.get(interval)
  if (group === undefined) {
    group = { interval, head: undefined, tail: undefined, timer: undefined }
    groups.set(interval, group)
  }
  stream.idleSince = clockNow()
  append(group, stream)
  if (group.timer === undefined) arm(group, stream.idleSince)
}

/** Restarts `stream`'s silence (it just wrote). Cheap: a timestamp and, at most, a relink. */
export function touchIdle(stream: IdleWatched): void {
  stream.idleSince = clockNow()
  const group = stream.idleGroup
  // The timer is left as it is: the head can only become due later, and a timer that fires for a
  // head that is not due yet re-arms for the new head.
  if (group !== undefined && group.tail !== stream) {
    unlink(group, stream)
    append(group, stream)
  }
}

/** Stops watching `stream` (idempotent); the last stream of an interval clears its timer. */
export function unwatchIdle(stream: IdleWatched): void {
  const group = stream.idleGroup
  if (group === undefined) return
  unlink(group, stream)
  if (group.head === undefined) {
    clearTimeout(group.timer)
    group.timer = undefined
    forget(group)
  }
}

/** How many intervals have a live timer (for leak tests). Internal. */
export function idleTimerCount(): number {
  let count = 0
  for (const group of groups?.values() ?? []) if (group.timer !== undefined) count++
  return count
}

function fire(group: IdleGroup): void {
  group.timer = undefined
  const now = clockNow(true)
  let stream = group.head
  // Each due stream moves to the tail with a fresh silence before its keepalive, so the walk ends
  // at the first stream that is not due (or at one already handled in this walk): bounded.
  while (stream !== undefined && now - stream.idleSince >= group.interval) {
    unlink(group, stream)
    stream.idleSince = now
    append(group, stream)
    stream.onIdle()
    stream = group.head
  }
  if (group.head === undefined) {
    forget(group)
    return
  }
  if (group.timer === undefined) arm(group, now)
}

function forget(group: IdleGroup): void {
  // Only this group: a stream watched after the group emptied (e.g. during a walk) made a new one.
  if (groups?.get(group.interval) === group) groups.delete(group.interval)
}

function arm(group: IdleGroup, now: number): void {
  const head = group.head
  if (head === undefined) return
  // At least 1 ms: a timer can fire a little before `Date.now()` says the interval has passed.
  group.timer = setTimeout(fire, Math.max(1, head.idleSince + group.interval - now), group)
}

function append(group: IdleGroup, stream: IdleWatched): void {
  stream.idleGroup = group
  stream.idlePrev = group.tail
  stream.idleNext = undefined
  if (group.tail === undefined) group.head = stream
  else group.tail.idleNext = stream
  group.tail = stream
}

function unlink(group: IdleGroup, stream: IdleWatched): void {
  const { idlePrev: prev, idleNext: next } = stream
  if (prev === undefined) group.head = next
  else prev.idleNext = next
  if (next === undefined) group.tail = prev
  else next.idlePrev = prev
  stream.idlePrev = undefined
  stream.idleNext = undefined
  stream.idleGroup = undefined
}
