/** Whether this viewer uploads to peers: config plus the device's situation. */

export interface UploadPolicyConfig {
  /** Never upload. @default false */
  disabled: boolean;
  /** No upload when the browser asks to save data (`navigator.connection.saveData`). @default true */
  offOnSaveData: boolean;
  /** No upload on a metered/cellular connection (`navigator.connection.type === "cellular"`). @default true */
  offOnMetered: boolean;
  /** No upload while discharging below this battery level (0..1). 0 disables the check. @default 0.2 */
  offBelowBatteryLevel: number;
  /** No upload while the page is hidden (`document.visibilityState === "hidden"`). @default false */
  offWhenHidden: boolean;
}

/** The device facts the policy reads; `undefined` = unknown (the check passes). */
export interface DeviceState {
  saveData?: boolean;
  connectionType?: string;
  batteryLevel?: number;
  charging?: boolean;
  hidden?: boolean;
}

export type UploadOffReason = "config" | "save-data" | "metered" | "low-battery" | "hidden";

/** null = upload allowed; otherwise why not. */
export function uploadOffReason(cfg: UploadPolicyConfig, d: DeviceState): UploadOffReason | null {
  if (cfg.disabled) return "config";
  if (cfg.offOnSaveData && d.saveData === true) return "save-data";
  if (cfg.offOnMetered && d.connectionType === "cellular") return "metered";
  if (
    cfg.offBelowBatteryLevel > 0 &&
    d.charging === false &&
    d.batteryLevel !== undefined &&
    d.batteryLevel < cfg.offBelowBatteryLevel
  ) {
    return "low-battery";
  }
  if (cfg.offWhenHidden && d.hidden === true) return "hidden";
  return null;
}

interface NetworkInformationLike extends EventTarget {
  saveData?: boolean;
  type?: string;
}
interface BatteryLike extends EventTarget {
  level: number;
  charging: boolean;
}

/** Watches the browser's device facts and calls `onChange` when they change. Returns a stop function. */
export function watchDeviceState(onChange: (d: DeviceState) => void): () => void {
  const nav = (globalThis as { navigator?: Navigator }).navigator as
    | (Navigator & { connection?: NetworkInformationLike; getBattery?: () => Promise<BatteryLike> })
    | undefined;
  const doc = (globalThis as { document?: Document }).document;
  let battery: BatteryLike | undefined;
  let stopped = false;
  const read = (): DeviceState => ({
    saveData: nav?.connection?.saveData,
    connectionType: nav?.connection?.type,
    batteryLevel: battery?.level,
    charging: battery?.charging,
    hidden: doc ? doc.visibilityState === "hidden" : undefined,
  });
  const fire = () => {
    if (!stopped) onChange(read());
  };
  nav?.connection?.addEventListener?.("change", fire);
  doc?.addEventListener("visibilitychange", fire);
  nav
    ?.getBattery?.()
    .then((b) => {
      battery = b;
      b.addEventListener("levelchange", fire);
      b.addEventListener("chargingchange", fire);
      fire();
    })
    .catch(() => undefined); // no Battery API: the battery check passes
  fire();
  return () => {
    stopped = true;
    nav?.connection?.removeEventListener?.("change", fire);
    doc?.removeEventListener("visibilitychange", fire);
    battery?.removeEventListener("levelchange", fire);
    battery?.removeEventListener("chargingchange", fire);
  };
}
