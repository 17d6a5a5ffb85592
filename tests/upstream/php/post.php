<?php
// A urlencoded form, as PHP parsed it.
header('Content-Type: application/json');
echo json_encode(['method' => $_SERVER['REQUEST_METHOD'], 'post' => $_POST]);
