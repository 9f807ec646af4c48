import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The build output is committed and embedded in the `weft` binary, so it must be
// reproducible: no timestamps, stable chunk names (content hashes only).
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    reportCompressedSize: false,
    rollupOptions: {
      output: {
        manualChunks(id) {
          if (id.includes('node_modules/@dnd-kit')) return 'dnd';
          if (id.includes('node_modules/react-dom') || id.includes('node_modules/react/') || id.includes('node_modules/scheduler')) return 'react';
          return undefined;
        },
      },
    },
  },
  // `npm run dev` against a running weft (WEFT_API overrides the address).
  server: { proxy: { '/api': process.env.WEFT_API ?? 'http://127.0.0.1:8080' } },
  preview: { proxy: { '/api': process.env.WEFT_API ?? 'http://127.0.0.1:8080' } },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['src/test-setup.ts'],
    // jsdom renders antd slowly on a busy 2-core machine; a limit, not a speed assertion.
    testTimeout: 60000,
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
