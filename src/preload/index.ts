/**
 * Preload. The narrow typed bridge to main (one object exposed through contextBridge, built
 * from the shared contract) lands with the desktop issue; until then the window needs nothing.
 */
export {}
