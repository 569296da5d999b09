// p2p-media-loader's Shaka Player integration for the offload benchmark's Shaka rows, bundled for the viewer page (window.PMLShaka).
import "./process-shim.mjs";
import { ShakaP2PEngine } from "p2p-media-loader-shaka";
globalThis.PMLShaka = { ShakaP2PEngine };
