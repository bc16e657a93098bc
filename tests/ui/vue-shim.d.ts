// tsc (tsconfig.json) checks the tests but not SFCs; vue-tsc checks the SFCs themselves.
declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}
