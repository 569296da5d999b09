// The p2p-media-loader side of the offload benchmark, bundled for the viewer page (window.PML).
import "./process-shim.mjs";
import { HlsJsP2PEngine } from "p2p-media-loader-hlsjs";
globalThis.PML = { HlsJsP2PEngine };
