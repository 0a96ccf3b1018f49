// Built-in defaults: the local demo topology (three in-house backends and the fake Modal, all on
// loopback). `spillway serve` with no --config runs exactly this.
export const DEFAULT_CONFIG_YAML = `
xds:
  listen: 127.0.0.1:18000
lrs:
  interval_ms: 1000
admin:
  listen: 127.0.0.1:18081
services:
  - name: echo
    listener: 127.0.0.1:10000
    route:
      timeout_ms: 0
      idle_timeout_ms: 300000
      websocket: true
    in_house:
      endpoints:
        - { address: 127.0.0.1, port: 18101, capacity: 8 }
        - { address: 127.0.0.1, port: 18102, capacity: 8 }
        - { address: 127.0.0.1, port: 18103, capacity: 8 }
    modal:
      url: https://spillway-demo--echo.modal.run:18443
      connect_address: 127.0.0.1
      app: spillway-demo
      function: echo
      max_inputs: 4
      max_containers: 5
      ca_bundle: .tmp/demo-pki/ca.pem
    capacity:
      policy: default
      in_house_service_time_ms: 200   # the demo backends take 200 ms per request
      modal_service_time_ms: 220
      cold_start_ms: 3000             # the fake Modal's cold start
`;
