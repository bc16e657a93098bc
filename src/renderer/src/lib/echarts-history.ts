// The history charts' ECharts pieces, in their own chunk (HistoryCharts.vue is loaded when a
// range past 5 min is chosen): line series, the zoom, the tooltip and the chart titles.
import { use } from 'echarts/core'
import { LineChart } from 'echarts/charts'
import { DataZoomInsideComponent, DataZoomSliderComponent, GridComponent, TitleComponent, TooltipComponent } from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'

use([LineChart, DataZoomInsideComponent, DataZoomSliderComponent, GridComponent, TitleComponent, TooltipComponent, CanvasRenderer])
