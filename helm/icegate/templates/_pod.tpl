{{/* The pod template shared by deployment.yaml and daemonset.yaml. */}}
{{- define "icegate.podTemplate" -}}
metadata:
  labels:
    {{- include "icegate.selectorLabels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  serviceAccountName: {{ include "icegate.serviceAccountName" . }}
  automountServiceAccountToken: false
  {{- if eq .Values.mode "hostNetwork" }}
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  {{- end }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: icegate
      image: {{ include "icegate.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      envFrom:
        - configMapRef:
            name: {{ include "icegate.fullname" . }}
      env:
        {{- include "icegate.env" . | nindent 8 }}
      ports:
        - name: turn-udp
          containerPort: {{ .Values.turn.port }}
          protocol: UDP
        - name: turn-tcp
          containerPort: {{ .Values.turn.port }}
          protocol: TCP
        {{- if .Values.tls.enabled }}
        - name: turns
          containerPort: {{ .Values.turn.tlsPort }}
          protocol: TCP
        {{- end }}
        - name: http
          containerPort: {{ .Values.http.port }}
          protocol: TCP
        # Prometheus only (METRICS_PORT); the probes below stay on the HTTP port.
        - name: metrics
          containerPort: {{ .Values.metrics.port }}
          protocol: TCP
      # /healthz answers 200 while the process runs, draining included.
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
        {{- toYaml .Values.livenessProbe | nindent 8 }}
      # /readyz answers 503 from SIGTERM on, so the pod leaves Service endpoints while it drains.
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        {{- toYaml .Values.readinessProbe | nindent 8 }}
      lifecycle:
        # Draining starts when icegate gets SIGTERM; this pause before it lets endpoint and load
        # balancer updates land, so no new client is sent to a pod that is about to refuse it.
        preStop:
          exec:
            command: ["sleep", "{{ .Values.preStopSleepSeconds }}"]
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        - name: data
          mountPath: {{ .Values.dataDir }}
        - name: tmp
          mountPath: /tmp
        {{- if .Values.tls.enabled }}
        - name: tls
          mountPath: {{ .Values.tls.mountPath }}
          readOnly: true
        {{- end }}
  volumes:
    - name: data
      {{- toYaml .Values.dataVolume | nindent 6 }}
    - name: tmp
      emptyDir: {}
    {{- if .Values.tls.enabled }}
    - name: tls
      secret:
        secretName: {{ required "tls.existingSecret: name the kubernetes.io/tls Secret" .Values.tls.existingSecret }}
        defaultMode: 0440
    {{- end }}
  {{- with (include "icegate.affinity" .) }}
  affinity:
    {{- . | nindent 4 }}
  {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
